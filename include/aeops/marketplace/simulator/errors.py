"""Error answers of the simulated platform."""

from __future__ import annotations


class SimError(Exception):
    """An error answer: ``shape`` is sync | rest | top."""

    def __init__(self, code: str, msg: str, *, err_type: str = "ISV", shape: str = "sync",
                 sub_code: str | None = None) -> None:
        super().__init__(msg)
        self.code, self.msg, self.err_type, self.shape, self.sub_code = code, msg, err_type, shape, sub_code


class AnswerDropped(Exception):
    """Answer with a truncated response (the connection closes mid-answer)."""


