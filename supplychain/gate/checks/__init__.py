"""One module per group of gate checks; each check returns a CheckResult."""
