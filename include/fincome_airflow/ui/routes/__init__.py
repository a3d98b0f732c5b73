"""One router per page of the operations app."""
