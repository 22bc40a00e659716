"""`make bench`: the offline commands measured against the import floor."""
