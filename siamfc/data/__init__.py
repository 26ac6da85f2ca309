"""Training data: annotated sequences from several layouts, and pairs cut from them."""
