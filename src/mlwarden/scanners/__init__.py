"""Static analysers: functions from bytes to findings. No network, no database, no loading."""
