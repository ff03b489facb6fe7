"""What every Google API client in meetbot shares, below both bot/meet and bot/google: the one error tree that
Google's answers are translated into, and the one place each HTTP exchange with Google is reported."""
