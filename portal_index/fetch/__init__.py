"""Fetching: the polite crawler, the prober, the browser audit, the private-address guard every
outbound connection goes through, WARC writing, the key URLs of a portal. Fetchers write files;
the loaders in `portal_index.land` read them."""
