"""The bulletin's daily figures per work group, kept with what they count."""
