"""The range sets a lab may choose (``[report] ranges``): one module each, holding its bands per age group, its
age cut-off (calendar months, and which group the boundary day belongs to) and its sources. A new range set is
one module here and one line below; the first is the default."""

from sweattest.core.rules.range_sets import cff_2017, clsi_c34_a3, uk_2014

ALL = (
    cff_2017.RANGE_SET,
    clsi_c34_a3.RANGE_SET,
    uk_2014.RANGE_SET,
)
