"""The network IR (parameters only) and its YAML form."""
from .common import Nonlinearity, Trace
from .io import from_dict, json_schema, load, save, to_dict, write_json_schema
from .schema import (
    FORMAT_VERSION, LIF, AllToAll, External, LIFDendritic, ArraySource, FixedProbability, GaussianConnectivity, Mask, ModArray,
    ModConstant, ModPopulation, ModPulses, ModSine, ModStep, Network, OneToOne, Poisson, Probe, Projection,
    Rate, Run, SpikeTimes, WArray, WConstant, WGaussianArbor, WNormal, WUniform,
)
from .validate import check, size, validate
