"""aeops.marketplace"""
