"""The local stack: embedded servers and the launchers behind `./spoke up` and `./spoke test`."""
