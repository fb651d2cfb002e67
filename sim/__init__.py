"""tokensim: discrete-event simulation and Monte Carlo forecasting of AI token spend."""

__version__ = "0.1.0"
