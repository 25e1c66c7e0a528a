"""The grid worker's phone pages (`/grid/`): 上报 from patrol, 核实 and 核查 tasks, their grids' open cases."""
