"""Physical constants, CODATA 2018 (SI, 2019 redefinition).

Since the 2019 redefinition of the SI, the elementary charge, the Boltzmann and the Avogadro
constants are exact; the gas constant R = k_B N_A and the Faraday constant F = e N_A are therefore
exact too. The decimal expansions below are the exact products (R to its full 15 significant digits,
F with the exact digits that a double can hold).

Reference: E. Tiesinga et al., "CODATA recommended values of the fundamental physical constants:
2018", Rev. Mod. Phys. 93, 025010 (2021), doi:10.1103/RevModPhys.93.025010.
"""

ELEMENTARY_CHARGE = 1.602176634e-19  # C (exact)
BOLTZMANN = 1.380649e-23  # J/K (exact)
AVOGADRO = 6.02214076e23  # 1/mol (exact)
GAS_CONSTANT = 8.31446261815324  # J/(mol K) = BOLTZMANN * AVOGADRO (exact)
FARADAY = 96485.33212331001  # C/mol = ELEMENTARY_CHARGE * AVOGADRO (exact: 96485.3321233100184)
ZERO_CELSIUS = 273.15  # K, 0 degC on the thermodynamic scale (exact by definition)
VACUUM_PERMITTIVITY = 8.8541878128e-12  # F/m (CODATA 2018, measured)
