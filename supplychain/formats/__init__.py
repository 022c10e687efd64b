"""Model file formats: content identification and the readers every command shares."""
