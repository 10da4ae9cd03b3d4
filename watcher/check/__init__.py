"""One check, gathered: fetch, read in reader processes, ask the judge, record."""
