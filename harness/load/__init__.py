"""Load profiles run by Locust in a subprocess, with thresholds, baselines and reports."""
