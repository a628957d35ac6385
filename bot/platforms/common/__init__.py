"""What every platform needs, written once: `text` (clip, chunk, escape), `cache` (a bounded
LRU/TTL map), `replies` (replies sent once per delivery), `dm` (DM-only commands)."""
