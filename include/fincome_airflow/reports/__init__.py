"""Reports: the rejects and differences exported where every component reaches them."""
