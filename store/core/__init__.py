"""What the SQL backends share: the typed write commands, the records, the store core."""
