"""Files: safe archive handling and the storage layout."""
