"""What every service uses: errors a use case raises, text from outside, places."""
