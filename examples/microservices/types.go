package main

// The records of the application, JSON on the wire, after the event-driven microservices demo
// the example follows (Confluent's kafka-streams-examples). docs/microservices.md lists the
// topics with their keys and schemas.

// Order states.
const (
	StateCreated   = "CREATED"
	StateValidated = "VALIDATED"
	StateFailed    = "FAILED"
)

// Check types and results of an OrderValidation.
const (
	InventoryCheck    = "INVENTORY_CHECK"
	FraudCheck        = "FRAUD_CHECK"
	OrderDetailsCheck = "ORDER_DETAILS_CHECK"

	Pass = "PASS"
	Fail = "FAIL"
)

// numChecks is how many validations an order needs: one per validating service.
const numChecks = 3

// Topics of the application.
const (
	TopicOrders      = "orders"              // key: order id; value: Order
	TopicValidations = "order-validations"   // key: order id; value: OrderValidation
	TopicInventory   = "warehouse-inventory" // key: product; value: units in stock (JSON number)
	TopicPayments    = "payments"            // key: payment id; value: Payment
	TopicCustomers   = "customers"           // key: customer id; value: Customer
	TopicEmails      = "emails"              // key: order id; value: Email
)

var allTopics = []string{TopicOrders, TopicValidations, TopicInventory, TopicPayments, TopicCustomers, TopicEmails}

// Products the shop sells.
var products = []string{"JUMPERS", "UNDERPANTS", "STOCKINGS"}

// Order is a record of the orders topic. The orders service writes it CREATED; the validations
// aggregator writes it again, VALIDATED or FAILED.
type Order struct {
	ID         string  `json:"id"`
	CustomerID string  `json:"customerId"`
	State      string  `json:"state"`
	Product    string  `json:"product"`
	Quantity   int64   `json:"quantity"`
	Price      float64 `json:"price"`
}

// Value is what the order costs.
func (o Order) Value() float64 { return float64(o.Quantity) * o.Price }

// OrderValidation is one service's verdict on an order.
type OrderValidation struct {
	OrderID   string `json:"orderId"`
	CheckType string `json:"checkType"`
	Result    string `json:"validationResult"`
}

// Payment is a record of the payments topic.
type Payment struct {
	ID      string  `json:"id"`
	OrderID string  `json:"orderId"`
	Ccy     string  `json:"ccy"`
	Amount  float64 `json:"amount"`
}

// Customer is a record of the customers topic.
type Customer struct {
	ID        string `json:"id"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	Email     string `json:"email"`
	Address   string `json:"address"`
	Level     string `json:"level"`
}

// Email is a record of the emails topic: one per validated, paid order of a known customer.
type Email struct {
	OrderID      string  `json:"orderId"`
	CustomerID   string  `json:"customerId"`
	Email        string  `json:"email"`
	CustomerName string  `json:"customerName"`
	Product      string  `json:"product"`
	Quantity     int64   `json:"quantity"`
	Amount       float64 `json:"amount"`
	Ccy          string  `json:"ccy"`
}

// Stock is what the inventory service answers for a product: units in the warehouse and units
// reserved by orders that passed the inventory check and have not failed since.
type Stock struct {
	Product  string `json:"product"`
	InStock  int64  `json:"inStock"`
	Reserved int64  `json:"reserved"`
}
