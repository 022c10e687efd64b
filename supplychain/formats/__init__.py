"""Model file formats: identification by content and the readers scanners, converters and BOMs share."""
