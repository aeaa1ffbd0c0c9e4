from motionbench.cli import main

main()
