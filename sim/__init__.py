"""minersim: agent-based simulator of the Bitcoin mining industry."""
