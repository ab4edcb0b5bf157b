"""Collection-terminal client: holds a key, signs activity records, submits them."""
