"""How faithful is a decoded volume? Measures of cryo-ET data fidelity (for lossy compression)."""
