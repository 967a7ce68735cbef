"""Tools that measure the product, not part of it: `bench` (speed and memory on synthetic
corpora), `evaluate` (answer quality on graded question sets) and `deliveries` (digest
deliveries per minute); the graded question sets are the .jsonl files beside them."""
