"""Every run's local record: metrics.csv, summary.json, config.yaml. Written whatever W&B does."""
