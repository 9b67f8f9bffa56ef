// --map parsing and binding to a header: every error names the bad part.
#include "tools/cjdctl/import/import_mapping.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cjd::import {
namespace {

const std::vector<std::string> kUciHeader = {"InvoiceNo",   "StockCode", "Description", "Quantity",
                                             "InvoiceDate", "UnitPrice", "CustomerID",  "Country"};
const char* kUciMap =
    "order_id=InvoiceNo,customer_id=CustomerID,occurred_at=InvoiceDate,sku=StockCode,"
    "description=Description,quantity=Quantity,unit_price=UnitPrice,country=Country";

TEST(ImportMapping, ParsesAndBindsTheUciMapping) {
  Result<FieldMap> map = ParseFieldMap(kUciMap);
  ASSERT_TRUE(map.ok()) << map.status().ToString();
  EXPECT_EQ((*map)[Field::kOrderId], "InvoiceNo");
  EXPECT_EQ((*map)[Field::kCountry], "Country");
  EXPECT_FALSE(map->has(Field::kEmail));

  Result<ColumnMap> cols = BindFieldMap(*map, kUciHeader, "f.csv");
  ASSERT_TRUE(cols.ok()) << cols.status().ToString();
  EXPECT_EQ((*cols)[Field::kOrderId], 0u);
  EXPECT_EQ((*cols)[Field::kUnitPrice], 5u);
  EXPECT_EQ((*cols)[Field::kCustomerId], 6u);
  EXPECT_FALSE((*cols)[Field::kEmail].has_value());
  EXPECT_EQ(cols->header_size, 8u);
  EXPECT_EQ(cols->column[static_cast<size_t>(Field::kQuantity)], "Quantity");
}

TEST(ImportMapping, EveryFieldNameRoundTrips) {
  for (size_t i = 0; i < kFieldCount; ++i) {
    const Field f = static_cast<Field>(i);
    EXPECT_EQ(FieldFromName(FieldName(f)), f) << FieldName(f);
  }
  EXPECT_FALSE(FieldFromName("price").has_value());
}

TEST(ImportMapping, SpacesAroundNamesAndATrailingCommaAreFine) {
  Result<FieldMap> map = ParseFieldMap(
      " order_id = Invoice No , occurred_at=When,sku=Sku,quantity=Qty,unit_price=Price,");
  ASSERT_TRUE(map.ok()) << map.status().ToString();
  EXPECT_EQ((*map)[Field::kOrderId], "Invoice No");
  Result<ColumnMap> cols =
      BindFieldMap(*map, {" Invoice No", "When", "Sku", "Qty", "Price"}, "x.csv");
  ASSERT_TRUE(cols.ok()) << cols.status().ToString();
  EXPECT_EQ((*cols)[Field::kOrderId], 0u);
}

TEST(ImportMapping, UnknownFieldIsNamed) {
  Result<FieldMap> map = ParseFieldMap("order_id=A,price=B");
  ASSERT_FALSE(map.ok());
  EXPECT_EQ(map.status().code(), Code::kInvalid);
  EXPECT_NE(map.status().message().find("--map: unknown field 'price'"), std::string::npos)
      << map.status().message();
  EXPECT_NE(map.status().message().find("unit_price"), std::string::npos);  // lists the fields
}

TEST(ImportMapping, MalformedEntries) {
  for (const char* spec : {"order_id", "order_id=A,,sku=B", "order_id=", "", "  "}) {
    Result<FieldMap> map = ParseFieldMap(spec);
    ASSERT_FALSE(map.ok()) << spec;
    EXPECT_EQ(map.status().message().rfind("--map: ", 0), 0u) << map.status().message();
  }
  EXPECT_NE(ParseFieldMap("order_id").status().message().find("'order_id' is not FIELD=COLUMN"),
            std::string::npos);
}

TEST(ImportMapping, FieldMappedTwice) {
  Result<FieldMap> map =
      ParseFieldMap("order_id=A,occurred_at=B,sku=C,quantity=D,unit_price=E,sku=F");
  ASSERT_FALSE(map.ok());
  EXPECT_NE(map.status().message().find("field 'sku' is mapped twice"), std::string::npos)
      << map.status().message();
}

TEST(ImportMapping, RequiredFields) {
  const char* full = "order_id=A,occurred_at=B,sku=C,quantity=D,unit_price=E";
  EXPECT_TRUE(ParseFieldMap(full).ok());
  for (const char* missing : {"order_id", "occurred_at", "sku", "quantity", "unit_price"}) {
    std::string spec;
    for (const char* part :
         {"order_id=A", "occurred_at=B", "sku=C", "quantity=D", "unit_price=E"}) {
      if (std::string(part).rfind(std::string(missing) + "=", 0) == 0) continue;
      spec += std::string(part) + ",";
    }
    Result<FieldMap> map = ParseFieldMap(spec);
    ASSERT_FALSE(map.ok()) << spec;
    EXPECT_NE(map.status().message().find("field '" + std::string(missing) + "' is required"),
              std::string::npos)
        << map.status().message();
  }
}

TEST(ImportMapping, ColumnMissingFromTheHeaderNamesColumnAndFile) {
  Result<FieldMap> map = ParseFieldMap(std::string(kUciMap) + ",email=Foo");
  ASSERT_TRUE(map.ok());
  Result<ColumnMap> cols = BindFieldMap(*map, kUciHeader, "data/2011-01.csv.gz");
  ASSERT_FALSE(cols.ok());
  EXPECT_NE(cols.status().message().find(
                "--map: column 'Foo' is not in the header of data/2011-01.csv.gz"),
            std::string::npos)
      << cols.status().message();
  EXPECT_NE(cols.status().message().find("InvoiceNo, StockCode"), std::string::npos);
}

TEST(ImportMapping, ColumnNamesAreCaseSensitive) {
  Result<FieldMap> map = ParseFieldMap(
      "order_id=invoiceno,occurred_at=InvoiceDate,sku=StockCode,quantity=Quantity,"
      "unit_price=UnitPrice");
  ASSERT_TRUE(map.ok());
  EXPECT_FALSE(BindFieldMap(*map, kUciHeader, "f.csv").ok());
}

TEST(ImportMapping, AmbiguousHeaderColumn) {
  Result<FieldMap> map =
      ParseFieldMap("order_id=Id,occurred_at=When,sku=Sku,quantity=Qty,unit_price=Price");
  ASSERT_TRUE(map.ok());
  Result<ColumnMap> cols =
      BindFieldMap(*map, {"Id", "When", "Sku", "Qty", "Price", "Qty"}, "f.csv");
  ASSERT_FALSE(cols.ok());
  EXPECT_NE(cols.status().message().find("column 'Qty' appears twice in the header of f.csv"),
            std::string::npos)
      << cols.status().message();
}

TEST(ImportMapping, OneColumnMayFeedTwoFields) {
  Result<FieldMap> map = ParseFieldMap(
      "order_id=Id,occurred_at=When,sku=Sku,description=Sku,quantity=Qty,unit_price=Price");
  ASSERT_TRUE(map.ok());
  Result<ColumnMap> cols = BindFieldMap(*map, {"Id", "When", "Sku", "Qty", "Price"}, "f.csv");
  ASSERT_TRUE(cols.ok());
  EXPECT_EQ((*cols)[Field::kSku], (*cols)[Field::kDescription]);
}

}  // namespace
}  // namespace cjd::import
