"""The Fincome hook and what it returns."""
