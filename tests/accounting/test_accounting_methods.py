"""A worked example per method: inputs and formulas stated here, expected digits computed here.

Factor values are the reference sheet's (methodology.md); the arithmetic follows the documented
policy (exact products, one division, 1e-20 t per line, exact sums).
"""

from __future__ import annotations

from accounting import Entry, account, load_factor_set, report
from tests.accounting.helpers import D, inventory, line

FS = load_factor_set()

# Reference sheet §3.1 / §1.2 / §4 / §5 values used below.
NG_NCV, NG_CC, NG_OF = D("389.31"), D("0.0153"), D("0.99")
DIESEL_NCV, DIESEL_CC, DIESEL_OF = D("43.330"), D("0.02020"), D("0.98")
GRID_2022, GRID_ZJ_2023, ETS_2022 = D("0.5366"), D("0.4974"), D("0.5703")


def test_fuel_combustion_general():
    # 12.5 × 10⁴ Nm³ natural gas; 2 500 kg diesel; 1 000 GJ of natural gas by heat.
    result = account(
        inventory(
            "general",
            Entry("fuel.natural_gas", D("12.5"), "10^4 Nm3"),
            Entry("fuel.diesel", D("2500"), "kg"),
            Entry("fuel.natural_gas", D("1000"), "GJ"),
        ),
        FS,
    )
    gas = line(D("12.5") * NG_NCV * NG_CC * NG_OF * 44, D(12))
    diesel = line(D("2500") * D("0.001") * DIESEL_NCV * DIESEL_CC * DIESEL_OF * 44, D(12))
    by_heat = line(D("1000") * NG_CC * NG_OF * 44, D(12))
    assert [ln.co2e for ln in result.lines] == [gas, diesel, by_heat]
    assert result.by_category["combustion"] == gas + diesel + by_heat
    assert result.total == gas + diesel + by_heat
    assert result.by_gas == {"CO2": result.total}
    assert {f.id for f in result.lines[0].basis.factors} >= {
        "fuel.natural_gas.ncv",
        "fuel.natural_gas.cc",
        "fuel.natural_gas.of",
    }


def test_measured_parameters_override_defaults_and_are_recorded():
    entry = Entry("fuel.bituminous_coal", D("100"), "t", {"ncv": D("21.5"), "cc": D("0.0262")})
    result = account(inventory("general", entry), FS)
    expected = line(D("100") * D("21.5") * D("0.0262") * D("0.93") * 44, D(12))
    assert result.total == expected
    overrides = {o.param: o for o in result.lines[0].basis.overrides}
    assert overrides["ncv"].value == D("21.5")
    assert overrides["ncv"].replaces == "fuel.bituminous_coal.ncv"
    assert overrides["ncv"].default_value == D("23.204")
    assert overrides["cc"].default_value == D("0.02618")


def test_raw_coal_uses_reference_ncv_with_measured_carbon():
    entry = Entry("fuel.raw_coal", D("50"), "t", {"cc": D("0.0265"), "of": D("0.92")})
    expected = line(D("50") * D("20.908") * D("0.0265") * D("0.92") * 44, D(12))
    assert account(inventory("general", entry), FS).total == expected


def test_electricity_heat_exported_and_biomass_memo():
    result = account(
        inventory(
            "general",
            Entry("electricity.purchased", D("1234567"), "kWh"),
            Entry("electricity.purchased", D("800"), "MWh", factor="grid.ets.national.2022"),
            Entry("electricity.exported", D("100"), "MWh"),
            Entry("heat.purchased", D("5000"), "GJ"),
            Entry("heat.purchased", D("2"), "TJ", {"ef": D("0.095")}),
            Entry("heat.exported", D("300"), "GJ"),
            Entry(
                "fuel.biomass", D("40"), "t", {"ncv": D("15.2"), "cc": D("0.0275"), "of": D("0.9")}
            ),
        ),
        FS,
    )
    grid = line(D("1234567") * D("0.001") * GRID_2022)
    ets = line(D("800") * ETS_2022)
    exported = -line(D("100") * GRID_2022)
    heat = line(D("5000") * D("0.11"))
    heat_measured = line(D("2") * D("1000") * D("0.095"))
    heat_out = -line(D("300") * D("0.11"))
    biomass = line(D("40") * D("15.2") * D("0.0275") * D("0.9") * 44, D(12))
    assert result.by_category["purchased_electricity"] == grid + ets
    assert result.by_category["exported"] == exported + heat_out
    assert result.by_category["purchased_heat"] == heat + heat_measured
    assert result.by_category["biomass_memo"] == biomass
    assert result.total == grid + ets + exported + heat + heat_measured + heat_out
    assert result.lines[1].basis.factors[0].id == "grid.ets.national.2022"


def test_inventory_factor_choice_selects_series():
    inv = inventory(
        "general",
        Entry("electricity.purchased", D("1000"), "MWh"),
        choices={"electricity.purchased": "grid.mee.province.zhejiang.2023"},
    )
    assert account(inv, FS).total == line(D("1000") * GRID_ZJ_2023)


def test_flat_glass_carbonates_and_carbon_powder():
    result = account(
        inventory(
            "flat_glass",
            Entry("process.carbonate.na2co3", D("3540"), "t"),
            Entry("process.carbonate.dolomite", D("2890"), "t", {"fraction": D("0.98")}),
            Entry("process.glass_carbon_powder", D("9.4"), "t", {"carbon_content": D("0.85")}),
        ),
        FS,
    )
    soda = line(D("3540") * D("0.4152"))
    dolomite = line(D("2890") * D("0.4773") * D("0.98"))
    carbon = line(D("9.4") * D("0.85") * 44, D(12))
    assert result.by_category["process"] == soda + dolomite + carbon
    assert result.total == soda + dolomite + carbon


def test_cement_clinker():
    params = {"cao": D("0.6512"), "mgo": D("0.0231"), "cao_nc": D("0.0085")}
    result = account(inventory("cement", Entry("process.clinker", D("152000"), "t", params)), FS)
    # Q × [(CaO − CaO_nc) × 44/56 + MgO × 44/40], with one division by 56 × 40.
    expected = line(
        D("152000") * 44 * ((D("0.6512") - D("0.0085")) * 40 + D("0.0231") * 56), D(56) * D(40)
    )
    assert result.total == expected
    # Same figure at reporting precision when evaluated term by term.
    term_by_term = D("152000") * ((D("0.6512") - D("0.0085")) * 44 / 56 + D("0.0231") * 44 / 40)
    assert report(result.total) == report(term_by_term)


def test_chemicals_mass_balance_n2o_and_recovery():
    result = account(
        inventory(
            "chemicals",
            Entry("process.carbon_input", D("10350"), "t", {"cc": D("0.8563")}),
            Entry("process.carbon_output.product", D("15200"), "t", {"cc": D("0.4931")}),
            Entry("process.carbon_output.waste", D("640"), "t", {"cc": D("0.3120")}),
            Entry(
                "process.n2o.nitric_acid.medium",
                D("11800"),
                "t",
                {"abatement_efficiency": D("0.90"), "abatement_utilisation": D("0.96")},
            ),
            Entry("process.n2o.adipic_acid", D("15200"), "t"),
            Entry("recovery.co2", D("1450"), "t"),
        ),
        FS,
        gwp="SAR",
    )
    c_in = line(D("10350") * D("0.8563") * 44, D(12))
    c_out = -line(D("15200") * D("0.4931") * 44, D(12))
    c_waste = -line(D("640") * D("0.3120") * 44, D(12))
    nitric_n2o = line(D("11800") * D("7") * (1 - D("0.90") * D("0.96")), D(1000))
    adipic_n2o = line(D("15200") * D("300"), D(1000))
    n2o_co2e = (nitric_n2o + adipic_n2o) * 310  # SAR GWP of N2O
    assert result.gas_mass["N2O"] == nitric_n2o + adipic_n2o
    assert result.by_gas["N2O"] == n2o_co2e
    assert result.by_category["process"] == c_in + c_out + c_waste + n2o_co2e
    assert result.by_category["deducted"] == -D("1450")
    assert result.total == c_in + c_out + c_waste + n2o_co2e - D("1450")


def test_iron_steel_process_and_carbon_fixed():
    result = account(
        inventory(
            "iron_steel",
            Entry("fuel.blast_furnace_gas", D("1000"), "10^4 Nm3"),
            Entry("process.flux.limestone", D("41000"), "t"),
            Entry("process.electrode", D("310"), "t"),
            Entry("process.purchased.ferroalloy", D("120"), "t", {"ef": D("0.275")}),
            Entry("carbon_fixed.crude_steel", D("805000"), "t"),
        ),
        FS,
    )
    bfg = line(D("1000") * D("37.69") * D("0.07080") * D("0.99") * 44, D(12))
    process = (
        line(D("41000") * D("0.440")) + line(D("310") * D("3.663")) + line(D("120") * D("0.275"))
    )
    fixed = -line(D("805000") * D("0.0154"))
    assert result.by_category["combustion"] == bfg
    assert result.by_category["process"] == process
    assert result.by_category["deducted"] == fixed
    assert result.total == bfg + process + fixed


def test_aluminium_anode_and_pfcs_both_methods():
    anode = {"net_anode_consumption": D("0.412"), "sulfur": D("0.021"), "ash": D("0.004")}
    result = account(
        inventory(
            "aluminium",
            Entry("process.anode", D("30150"), "t", anode),
            Entry("process.pfc.slope.cwpb", D("30150"), "t", {"aem": D("0.085")}),
            Entry("process.pfc.emission_factor", D("1000"), "t"),
        ),
        FS,
        gwp="AR5",
    )
    co2 = line(D("30150") * D("0.412") * (1 - D("0.021") - D("0.004")) * 44, D(12))
    slope_cf4 = line(D("0.143") * D("0.085") * D("30150"), D(1000))
    slope_c2f6 = line(D("0.143") * D("0.085") * D("0.121") * D("30150"), D(1000))
    ef_cf4 = line(D("1000") * D("0.034"), D(1000))
    ef_c2f6 = line(D("1000") * D("0.0034"), D(1000))
    assert result.gas_mass == {"CO2": co2, "C2F6": slope_c2f6 + ef_c2f6, "CF4": slope_cf4 + ef_cf4}
    expected = co2 + (slope_cf4 + ef_cf4) * 6630 + (slope_c2f6 + ef_c2f6) * 11100
    assert result.total == expected
    assert result.lines[1].co2e == slope_cf4 * 6630 + slope_c2f6 * 11100


def test_gwp_set_is_selectable():
    entry = Entry("process.pfc.emission_factor", D("1000"), "t")
    totals = {
        g: account(inventory("aluminium", entry), FS, gwp=g).total
        for g in ("SAR", "AR4", "AR5", "AR6")
    }
    cf4, c2f6 = line(D("34"), D(1000)), line(D("3.4"), D(1000))
    assert totals["SAR"] == cf4 * 6500 + c2f6 * 9200
    assert totals["AR6"] == cf4 * 7380 + c2f6 * 12400


def test_automotive_welding_fugitive_and_leak_rates():
    result = account(
        inventory(
            "automotive",
            Entry("process.welding_co2", D("3.9"), "t"),
            Entry("fugitive.hfc_134a", D("36"), "kg"),
            Entry("fugitive.sf6", D("0.8"), "kg"),
            Entry("fugitive.hfc_227ea", D("420"), "kg", factor="leak_rate.fm200_system"),
            Entry("fugitive.hfc_32", D("200"), "kg", {"leak_rate": D("0.05")}),
        ),
        FS,
        gwp="AR5",
    )
    hfc134a = line(D("36") * D("0.001"))
    sf6 = line(D("0.8") * D("0.001"))
    hfc227 = line(D("420") * D("0.001") * D("0.02"))
    hfc32 = line(D("200") * D("0.001") * D("0.05"))
    expected = D("3.9") + hfc134a * 1300 + sf6 * 23500 + hfc227 * 3350 + hfc32 * 677
    assert result.total == expected
    assert result.by_gas["SF6"] == sf6 * 23500
    assert result.lines[3].basis.factors[0].id == "leak_rate.fm200_system"


def test_from_scaled_record_quantity():
    entry = Entry.from_scaled("electricity.purchased", 123456789, 3, "kWh")
    assert entry.quantity == D("123456.789")
    result = account(inventory("general", entry), FS)
    assert result.total == line(D("123456.789") * D("0.001") * GRID_2022)
