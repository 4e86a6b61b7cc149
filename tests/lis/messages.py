"""Order messages as a LIS sends them."""

ORM = ("MSH|^~\\&|HIS|HOSPITAL|SWEATTEST|SWEATLAB|20261120080000||ORM^O01^ORM_O01|{control}|P|2.5.1\r"
       "PID|1||{mrn}^^^HOSP^MR~998877^^^NHS^NH||Doe^Jane||20250601|F\r"
       "PV1|1|O|PEDS^12||||||||||||||||V4455\r"
       "ORC|{control_code}|{placer}^HIS|{filler}^LAB|||||||||1234^Welby^Marcus\r"
       "OBR|1|{placer}^HIS|{filler}^LAB|{test}^Sweat chloride test^L|||20261120075500\r")


def orm(control="MSG0001", placer="ACC-1001", filler="F1001", mrn="MRN555", test="SWEATCL",
        control_code="NW") -> str:
    return ORM.format(control=control, placer=placer, filler=filler, mrn=mrn, test=test, control_code=control_code)


def oml(control="MSG0002", placer="ACC-2001") -> str:
    return (orm(control=control, placer=placer).replace("ORM^O01^ORM_O01", "OML^O21^OML_O21")
            + "SPM|1|||SWT^Sweat^HL70487\r")
