"""Pure, deterministic emissions accounting (GB/T 32150, GB/T 32151) and grading."""
