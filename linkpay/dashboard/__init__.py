"""The dashboard's link pages (/dashboard/links/): linkpay's own views, built with the dashboard's
public helpers from payments/dashboard and mounted by config/dashboard_urls.py."""
