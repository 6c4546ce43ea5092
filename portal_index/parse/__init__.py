"""Parsing: every input format into rows of the raw tables (page signals, WARC files, other
crawlers' and probers' result files, survey sheets, PAPI, spreadsheets). Parsers read a file and
return rows or an `InputRejected` with every problem; they never touch the warehouse."""
