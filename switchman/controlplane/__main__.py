from switchman.controlplane.server import main

main()
