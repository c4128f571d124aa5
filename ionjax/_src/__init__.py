"""Private implementation modules of ionjax; the public names are re-exported by ``ionjax``."""
