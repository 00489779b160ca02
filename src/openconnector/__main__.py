from openconnector.cli import main

main()
