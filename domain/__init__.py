"""The company's data and rules. Imports only the standard library and SQLAlchemy (plus small
pure libraries such as argon2 and Faker); never the web, realtime or search layers."""
