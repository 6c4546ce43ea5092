"""Automation: jobs, schedules and sensors."""
