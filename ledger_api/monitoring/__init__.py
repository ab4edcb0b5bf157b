"""Monitoring: rolling figures kept by the monitoring worker, rules, alerts, watchlists and
signed webhook deliveries (docs/monitoring.md)."""
