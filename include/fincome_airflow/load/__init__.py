"""Loading: the staged month cut into chunks and sent, parents before children."""
