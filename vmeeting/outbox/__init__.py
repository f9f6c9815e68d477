"""Mail as infrastructure: the queue, building on first send, delivery with retries, exactly once."""
