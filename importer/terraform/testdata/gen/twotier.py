import os, sys; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from basic import build
sys.stdout.write(build(False).dump())
