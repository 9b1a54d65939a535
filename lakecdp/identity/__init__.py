"""Identity rules shared by the Spark pipeline and the standalone resolver."""
