package main

// The records of the email service, as in the event-driven microservices demo the example
// follows (Confluent's kafka-streams-examples): JSON with these field names; ids are strings.

// Order is a record of the orders topic, keyed by order id.
type Order struct {
	ID         string  `json:"id"`
	CustomerID string  `json:"customerId"`
	State      string  `json:"state"`   // CREATED, VALIDATED, FAILED, SHIPPED
	Product    string  `json:"product"` // JUMPERS, UNDERPANTS, STOCKINGS
	Quantity   int     `json:"quantity"`
	Price      float64 `json:"price"`
}

// Payment is a record of the payments topic, keyed by payment id.
type Payment struct {
	ID      string  `json:"id"`
	OrderID string  `json:"orderId"`
	Ccy     string  `json:"ccy"`
	Amount  float64 `json:"amount"`
}

// Customer is a record of the customers topic, keyed by customer id.
type Customer struct {
	ID        string `json:"id"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	Email     string `json:"email"`
	Address   string `json:"address"`
	Level     string `json:"level"` // platinum, gold, silver, bronze
}

// Email is a record of the emails topic, keyed by order id: one per paid order.
type Email struct {
	OrderID      string  `json:"orderId"`
	CustomerID   string  `json:"customerId"`
	Email        string  `json:"email"`
	CustomerName string  `json:"customerName"`
	Product      string  `json:"product"`
	Quantity     int     `json:"quantity"`
	Amount       float64 `json:"amount"`
	Ccy          string  `json:"ccy"`
}

// OrderPayment is an order joined with one of its payments.
type OrderPayment struct {
	Order   Order
	Payment Payment
}

// OrderCustomer is an order joined with its customer, for the per-level topics.
type OrderCustomer struct {
	Order    Order    `json:"order"`
	Customer Customer `json:"customer"`
}

// Topics of the example.
var (
	inputTopics  = []string{"orders", "payments", "customers"}
	levelTopics  = []string{"platinum", "gold", "silver", "bronze"}
	outputTopics = append([]string{"emails"}, levelTopics...)
)
