"""One module per aggregate. Services apply the rules and write through repositories; they never commit."""
