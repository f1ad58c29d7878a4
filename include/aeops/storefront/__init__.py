"""The store's own page as code: store settings, the quarterly logo rotation, the person tasks behind them.

- :mod:`aeops.storefront.page_compare`: what the store page shows on each device against ``aeops_config``
  (name, logo, banners, response time) and Information Accuracy;
- :mod:`aeops.storefront.settings_steps`: the steps of DAG ``aliexpress_store_settings`` (check, ask a person,
  check again);
- :mod:`aeops.storefront.logo_rotation`: the logo-rotation DAG's step and its Slack message.

The Open Platform has no API for any of these: a person changes them in the seller center (a tracked task in
Airflow) and aeops verifies the result on the storefront.
"""
