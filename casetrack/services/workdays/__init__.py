"""Working days and a case's clock: the Chinese calendar, the days the county declares off, pre-warning days and pauses."""
